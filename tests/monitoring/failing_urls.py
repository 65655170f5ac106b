"""A URL whose view fails, for the error reporting tests."""

from django.urls import path


def fails(request):
    raise RuntimeError("the view failed")


urlpatterns = [path("ocpi/fails", fails)]
