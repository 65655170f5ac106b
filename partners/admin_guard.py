"""An admin action the user may not run is not offered (Django filters the list by each
action's `allowed_permissions`), and posting it anyway is refused with HTTP 403 here, rather
than Django's "No action selected" message, so that a refusal reads as one. Used by the
partner and push admins; any ModelAdmin may mix it in."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied


class RefuseHiddenActionsMixin(admin.ModelAdmin):
    def changelist_view(self, request, extra_context=None):
        name = request.POST.get("action") if request.method == "POST" else None
        declared = name in self._declared_action_names()
        if name and declared and name not in self.get_actions(request):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)

    def _declared_action_names(self) -> set[str]:
        names = {name for name, _ in self.admin_site.actions}
        for action in self.actions or ():
            names.add(action if isinstance(action, str) else action.__name__)
        return names


class ViewOnlyMixin:
    """A page to see and search, never to add, edit or delete through Django's forms: its
    rows are written by the services (actions, operations, workers). Still needs the view
    permission, as any admin page."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
