"""`{% audit_history object as history %}`: the changes of an object for its History page
(audit/templates/audit/object_history.html)."""

from django import template

from ..history import entries_for

register = template.Library()


@register.simple_tag
def audit_history(obj) -> dict:
    entries, truncated = entries_for(obj)
    return {"entries": entries, "truncated": truncated}
