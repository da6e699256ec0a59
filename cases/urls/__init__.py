"""The cases app's URLs (namespace `cases`, under /cases/), one module per area: the lists (queue,
board, pool, tasks, exports), the case page and its actions, and corrective actions, the rescue
cycle, outcomes and settings."""

from cases.urls import actions, care, case, lists

app_name = "cases"
urlpatterns = lists.urlpatterns + actions.urlpatterns + care.urlpatterns + case.urlpatterns
