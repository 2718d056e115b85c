from django.urls import path

from transparency import views

app_name = "public"

urlpatterns = [
    path("", views.home, name="home"),
]
