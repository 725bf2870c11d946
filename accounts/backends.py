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
