from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Authenticates by e-mail, case-insensitively.

    Pending and suspended users are still authenticated here, so that the login form can tell
    them why they cannot come in (`confirm_login_allowed`) instead of "wrong password".
    """

    def user_can_authenticate(self, user):
        return True

    def get_user(self, user_id):
        user = super().get_user(user_id)
        # A session that outlives a suspension must not keep working.
        return user if user is not None and user.is_active else None


def normalized_login(value) -> str:
    """An e-mail as the user model stores it (trimmed, lower case), for counting attempts."""
    from accounts.models import User

    if not isinstance(value, str):
        return ""
    return User.objects.normalize_email(value.strip()).lower()


def axes_username(request, credentials=None) -> str:
    """AXES_USERNAME_CALLABLE: `Bob@X.ru`, ` bob@x.ru ` and `bOb@x.RU` share one count.

    Login is case-insensitive (UserManager.get_by_natural_key), so counting the typed text
    gave every spelling its own five attempts, and a right password through a new spelling
    cleared the lock.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        value = credentials.get(field)
    else:
        value = getattr(request, "data", request.POST).get(field)
    return normalized_login(value)


def client_ip(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the client's address, read past TRUSTED_PROXY_COUNT proxies.

    With no trusted proxy (0), REMOTE_ADDR. Behind N proxies that each append the address they
    received the request from to X-Forwarded-For, the client is the N-th entry from the right;
    entries further left were written by the client and prove nothing.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count < 1:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < count:
        return remote
    return forwarded[-count]
