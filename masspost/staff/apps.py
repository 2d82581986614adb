from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "masspost.staff"
    label = "staff"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # One rule for user names wherever a user is made: masspost's services check it themselves, and on the user
        # model's field it holds for Django's own commands (createsuperuser) and forms too (staff.names).
        from django.contrib.auth import get_user_model

        from masspost.staff.names import validate_username

        field = get_user_model()._meta.get_field("username")
        if validate_username not in field.validators:
            field.validators.append(validate_username)
