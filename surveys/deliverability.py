"""The receiver of Anymail's tracking signal: every event the mail provider reports to the
webhook (see surveys/urls/reports.py) goes to one service, which stores it and suppresses the
address on a hard bounce or a spam complaint. Connected once, when surveys.card_deliverability is
imported from SurveysConfig.ready().

The signal is the mail provider's, not our domain flow: everything that happens is in
surveys.services.deliverability.tracking_event_record."""

from anymail.signals import tracking

from surveys.services.deliverability import tracking_event_record


def on_tracking_event(sender, event, esp_name, **kwargs) -> None:
    # An exception here makes the webhook answer 500, so the provider sends the event again.
    tracking_event_record(esp_name=esp_name, event=event)


tracking.connect(on_tracking_event, dispatch_uid="winback.surveys.deliverability")
