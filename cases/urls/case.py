"""The case page and its actions (under /cases/, namespace `cases`)."""

from django.urls import path

from cases.views import case, case_actions

urlpatterns = [
    path("<int:pk>/", case.case_detail, name="detail"),
    path("<int:pk>/log/", case_actions.case_log, name="log"),
    path("<int:pk>/email/", case_actions.case_email_send, name="email"),
    path("<int:pk>/offers/new/", case_actions.offer_new, name="offer_new"),
    path("offers/<int:pk>/decide/", case_actions.offer_decide, name="offer_decide"),
    path("<int:pk>/tasks/new/", case_actions.task_new, name="task_new"),
    path("tasks/<int:pk>/done/", case_actions.task_done, name="task_done"),
    path("<int:pk>/move/", case_actions.case_move, name="move"),
    path("<int:pk>/reason/", case_actions.case_reason, name="reason"),
    path("<int:pk>/reassign/", case_actions.case_reassign, name="reassign"),
    path("open/<int:customer_pk>/", case_actions.open_for_customer, name="open_for_customer"),
]
