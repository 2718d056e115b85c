from django.urls import path

from orchestration import api

app_name = "work"

urlpatterns = [
    path("problems", api.ProblemsView.as_view(), name="problems"),
    path("deployments", api.DeploymentsView.as_view(), name="deployments"),
    path("deployments/<int:pk>/rotate", api.RotateKeyView.as_view(), name="deployment-rotate"),
    path("deployments/<int:pk>/revoke", api.RevokeView.as_view(), name="deployment-revoke"),
    path("plans/deltas", api.DeltasView.as_view(), name="plan-deltas"),
    path("plans/<str:ref>", api.PlanView.as_view(), name="plan"),
    path("portfolios/deltas", api.PortfolioDeltasView.as_view(), name="portfolio-deltas"),
    path("portfolios/<str:ref>", api.PortfolioView.as_view(), name="portfolio"),
    path("tasks", api.TasksView.as_view(), name="tasks"),
    path("tasks/lease", api.LeaseView.as_view(), name="lease"),
    path("tasks/<int:pk>/heartbeat", api.HeartbeatView.as_view(), name="heartbeat"),
    path("tasks/<int:pk>/failure", api.FailureView.as_view(), name="failure"),
    path("signals", api.SignalsView.as_view(), name="signals"),
]
