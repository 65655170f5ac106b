"""django-filter pieces for OCPI list GETs: strict DateTime filters, errors as HTTP 200 + 2001."""

import django_filters
from django import forms

from .datetimes import parse_ocpi_datetime
from .errors import InvalidParameters


class OcpiDateTimeField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_ocpi_datetime(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class OcpiDateTimeFilter(django_filters.Filter):
    field_class = OcpiDateTimeField


class LastUpdatedFilterSet(django_filters.FilterSet):
    """`date_from` inclusive, `date_to` exclusive, on `last_updated`.

    OCPI 2.2.1, Transport and format, Pagination (Paginated Request).
    """

    date_from = OcpiDateTimeFilter(field_name="last_updated", lookup_expr="gte")
    date_to = OcpiDateTimeFilter(field_name="last_updated", lookup_expr="lt")


def valid_filterset_or_2001(filterset_class, request, queryset):
    """The bound filterset (its `qs`, and its `form.cleaned_data` for callers that key on
    the filter values), or OCPI 2001 naming every bad parameter."""
    filterset = filterset_class(request.GET, queryset=queryset)
    if not filterset.is_valid():
        message = "; ".join(
            f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()
        )
        raise InvalidParameters(message)
    return filterset


def filter_queryset_or_2001(filterset_class, request, queryset):
    return valid_filterset_or_2001(filterset_class, request, queryset).qs
