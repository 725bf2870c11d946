"""django-q2's admin, narrowed so that only the system role can decide what the worker runs.

django-q2's own admin lets anybody with "change" on a schedule type any dotted function name
into it, and resubmit any task; the worker imports and runs whatever it is given, as the
service's user, with SECRET_KEY and the Fernet keys within reach. So here:

- creating, editing and deleting schedules, queued tasks and task results is for superusers
  (the system role) only;
- the admin role (with "change" on schedules) may pause and resume schedules, which touches
  nothing but `repeats`;
- the admin role (with "change" on failed tasks) may resubmit failed tasks whose function and
  hook are EvoSync's own task functions (`evosync.schedules.allowed_task_functions`).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_q import admin as q_admin
from django_q.models import Failure, OrmQ, Schedule, Success
from django_q.tasks import async_task

from evosync.schedules import allowed_task_functions

# django-q2 pauses a schedule whose `repeats` is 0 and repeats one at -1 for ever.
PAUSED = 0
FOREVER = -1


def _superuser_only(request, obj=None) -> bool:
    return request.user.is_active and request.user.is_superuser


class SystemOnlyEditing:
    """Viewing follows the permissions; adding, changing and deleting is for superusers."""

    has_add_permission = staticmethod(_superuser_only)
    has_change_permission = staticmethod(_superuser_only)
    has_delete_permission = staticmethod(_superuser_only)


def _resubmittable(task, allowed: frozenset[str]) -> bool:
    return task.func in allowed and (not task.hook or task.hook in allowed)


def _resubmit(model_admin, request, queryset, *, delete: bool) -> None:
    """Put tasks back on the queue; for non-superusers only EvoSync's own task functions."""
    allowed = None if request.user.is_superuser else allowed_task_functions()
    refused = []
    sent = 0
    for task in queryset:
        if allowed is not None and not _resubmittable(task, allowed):
            refused.append(task.name)
            continue
        async_task(
            task.func,
            *task.args or (),
            hook=task.hook,
            group=task.group,
            cluster=task.cluster,
            **task.kwargs or {},
        )
        sent += 1
        if delete:
            task.delete()
    if sent:
        model_admin.message_user(
            request,
            ngettext("%(count)d task resubmitted.", "%(count)d tasks resubmitted.", sent)
            % {"count": sent},
            messages.SUCCESS,
        )
    if refused:
        model_admin.message_user(
            request,
            _(
                "Not resubmitted (the function is not one of EvoSync's tasks; only the system "
                "role may resubmit it): %(names)s"
            )
            % {"names": ", ".join(refused)},
            messages.ERROR,
        )


@admin.action(description=_("Resubmit the selected tasks to the queue"), permissions=["resubmit"])
def resubmit_failed(model_admin, request, queryset):
    _resubmit(model_admin, request, queryset, delete=True)


@admin.action(description=_("Resubmit the selected tasks to the queue"), permissions=["delete"])
def resubmit_successful(model_admin, request, queryset):
    _resubmit(model_admin, request, queryset, delete=False)


class ScheduleAdmin(SystemOnlyEditing, q_admin.ScheduleAdmin):
    actions = ["pause_schedules", "resume_schedules"]

    def has_pause_permission(self, request) -> bool:
        return request.user.has_perm("django_q.change_schedule")

    @admin.action(description=_("Pause the selected schedules"), permissions=["pause"])
    def pause_schedules(self, request, queryset):
        count = queryset.update(repeats=PAUSED)
        self.message_user(
            request,
            ngettext("%(count)d schedule paused.", "%(count)d schedules paused.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Resume the selected schedules"), permissions=["pause"])
    def resume_schedules(self, request, queryset):
        count = queryset.update(repeats=FOREVER)
        self.message_user(
            request,
            ngettext("%(count)d schedule resumed.", "%(count)d schedules resumed.", count)
            % {"count": count},
            messages.SUCCESS,
        )


class FailureAdmin(SystemOnlyEditing, q_admin.FailAdmin):
    actions = [resubmit_failed]

    def has_resubmit_permission(self, request) -> bool:
        return request.user.has_perm("django_q.change_failure")


class SuccessAdmin(SystemOnlyEditing, q_admin.TaskAdmin):
    # Running a finished task again is the system role's call ("delete" is superuser-only).
    actions = [resubmit_successful]


class QueueAdmin(SystemOnlyEditing, q_admin.QueueAdmin):
    pass


for model, model_admin in (
    (Schedule, ScheduleAdmin),
    (Failure, FailureAdmin),
    (Success, SuccessAdmin),
    (OrmQ, QueueAdmin),
):
    # The queue model is only registered with the ORM broker (django_q.admin).
    if admin.site.is_registered(model):
        admin.site.unregister(model)
        admin.site.register(model, model_admin)
