"""What happens when users are saved, beyond the row itself."""

from typing import Any

from allauth.account.models import EmailAddress
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import User


@receiver(post_save, sender=User, dispatch_uid="users.verify_a_new_superusers_address")
def verify_a_new_superusers_address(
    sender: type[User], instance: User, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A superuser made by `manage.py createsuperuser` (or create_superuser in code) gets its
    address as verified and primary: whoever runs commands on the server vouches for it, and
    under mandatory verification a mailed link would otherwise stand between the owner and the
    admin. Users signing up, or made superusers later in the admin, verify their own."""
    if created and not raw and instance.is_superuser and instance.email:
        EmailAddress.objects.create(
            user=instance, email=instance.email.lower(), verified=True, primary=True
        )
