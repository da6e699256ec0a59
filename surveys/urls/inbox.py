"""The reviewer inbox: responses, one response with the reviewer's actions, replies that close the
loop, and invitations to return in bulk."""

from django.urls import path

from surveys.views import inbox, inbox_replies

urlpatterns = [
    path("surveys/responses/", inbox.response_list, name="inbox"),
    path("surveys/responses/return-invitations/", inbox_replies.return_invitations, name="return_invitations"),
    path("surveys/responses/<int:pk>/", inbox.response_detail, name="response_detail"),
    path("surveys/responses/<int:pk>/reviewed/", inbox.response_mark_reviewed, name="response_mark_reviewed"),
    path("surveys/responses/<int:pk>/reason/", inbox.response_set_reason, name="response_set_reason"),
    path("surveys/responses/<int:pk>/reply/", inbox_replies.response_reply, name="response_reply"),
    path("surveys/responses/<int:pk>/return/", inbox_replies.response_return, name="response_return"),
]
