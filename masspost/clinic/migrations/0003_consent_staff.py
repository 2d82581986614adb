from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    """Consent recorded by staff on a patient's page: who (the user, by id), how the patient gave it, a note."""

    dependencies = [
        ("clinic", "0002_import_consent"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="consentevent",
            name="staff",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name="consentevent",
            name="method",
            field=models.CharField(blank=True, max_length=12, default="", db_default="",
                                   choices=[("in-person", "in person"), ("signed-form", "signed form"),
                                            ("phone", "phone call"), ("email", "e-mail"), ("other", "other")]),
        ),
        migrations.AddField(
            model_name="consentevent",
            name="note",
            field=models.CharField(blank=True, max_length=200, default="", db_default=""),
        ),
    ]
