"""The surveys app's models: survey definitions and settings, invitations and their links, the
suppression list, responses with their answers, and the replies that close the loop."""

from surveys.models.invitation import EmailEvent, Invitation, InvitationStatus, Suppression, SurveyLink
from surveys.models.response import Answer, Response, ResponseReply
from surveys.models.survey import EmailTemplate, Option, Question, Survey, SurveySettings

__all__ = [
    "Answer",
    "EmailEvent",
    "EmailTemplate",
    "Invitation",
    "InvitationStatus",
    "Option",
    "Question",
    "Response",
    "ResponseReply",
    "Suppression",
    "Survey",
    "SurveyLink",
    "SurveySettings",
]
