"""`{% dashboard_panels as panels %}`: the admin index's panels for the request's user
(`monitoring.dashboard`)."""

from django import template

from monitoring.dashboard import panels

register = template.Library()


@register.simple_tag(takes_context=True)
def dashboard_panels(context):
    return panels(context["request"].user)
