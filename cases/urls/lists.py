"""The case lists: the queue, the pool, the board, the task list and the exports (engineer A's
area). Included before the case page's URLs so these literal paths win over <int:pk>/."""

from django.urls import path

from cases.views import board, lists

urlpatterns = [
    path("", lists.queue, name="queue"),
    path("pool/", lists.pool, name="pool"),
    path("board/", board.board, name="board"),
    path("board/<int:pk>/move/", board.board_move, name="board_move"),
    path("<int:pk>/take/", lists.take, name="take"),
    path("reassign/", lists.bulk_reassign, name="bulk_reassign"),
    path("export/<str:fmt>/", lists.export, name="export"),
    path("tasks/", lists.my_tasks, name="my_tasks"),
]
