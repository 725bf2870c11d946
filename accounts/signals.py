"""Keeps a user's Django group in step with their role."""

from django.contrib.auth.models import Group
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Role, User


@receiver(post_save, sender=User)
def user_role_group_sync(sender, instance: User, raw=False, **kwargs):
    if raw:
        return
    wanted = Group.objects.filter(name=instance.role).first()
    current = set(instance.groups.filter(name__in=Role.values))
    if wanted is not None and current == {wanted}:
        return
    instance.groups.remove(*current)
    if wanted is not None:
        instance.groups.add(wanted)
