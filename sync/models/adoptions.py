"""The merchant's answers about VK items the planner was not sure were theirs."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AdoptionVerdict(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed: the same product")
    REJECTED = "rejected", _("Rejected: a different product")


class AdoptionDecision(models.Model):
    """The merchant's answer about a VK item the planner was not sure is this product
    (sync.plan.adoption: a weak match waits here before the first publish). Confirmed: the
    item is adopted; rejected: the product gets a new VK item and this one is left alone. An
    answer holds for that VK item only: a different candidate is asked about again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="adoption_decisions"
    )
    store_id = models.CharField(_("Evotor store"), max_length=64)
    product_id = models.CharField(_("Evotor product"), max_length=64)
    vk_item_id = models.BigIntegerField(_("VK item"))
    verdict = models.CharField(_("answer"), max_length=16, choices=AdoptionVerdict.choices)
    decided_at = models.DateTimeField(_("answered"), auto_now=True)

    class Meta:
        verbose_name = _("adoption answer")
        verbose_name_plural = _("adoption answers")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store_id", "product_id"], name="sync_adoption_one_per_product"
            )
        ]

    def __str__(self):
        return f"{self.product_id} → {self.vk_item_id}: {self.verdict}"
