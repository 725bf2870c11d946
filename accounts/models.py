from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SYSTEM = "system", _("System")
    ADMIN = "admin", _("Administrator")
    USER = "user", _("Merchant")


class Status(models.TextChoices):
    PENDING = "pending", _("Pending confirmation")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


# Roles that may open the Django admin.
STAFF_ROLES = {Role.SYSTEM, Role.ADMIN}


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.USER)
        extra_fields.setdefault("status", Status.PENDING)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields["role"] = Role.SYSTEM
        extra_fields["status"] = Status.ACTIVE
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an e-mail address.

    `is_active`, `is_staff` and `is_superuser` are real columns because Django and third-party
    code filter on them, but they are derived from `status` and `role` on every save.
    """

    email = models.EmailField(_("e-mail"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.USER)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    suspension_reason = models.CharField(_("suspension reason"), max_length=300, blank=True)
    email_confirmed_at = models.DateTimeField(_("e-mail confirmed at"), null=True, blank=True)
    evotor_user_id = models.CharField(
        _("Evotor user id"), max_length=32, unique=True, null=True, blank=True
    )
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)
    is_active = models.BooleanField(_("active"), default=False, editable=False)
    is_staff = models.BooleanField(_("staff"), default=False, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        self.email = self.email.lower()
        self.is_active = self.status == Status.ACTIVE
        self.is_staff = self.role in STAFF_ROLES
        self.is_superuser = self.role == Role.SYSTEM
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"status", "role"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "is_active", "is_staff", "is_superuser"}
        super().save(*args, **kwargs)

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email
