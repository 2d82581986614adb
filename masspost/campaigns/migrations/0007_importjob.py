import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """Import jobs: a large import over the REST API, run outside the request (docs/api.md, "Large files")."""

    dependencies = [
        ("campaigns", "0006_audit_actor"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ImportJob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=10)),
                ("via", models.CharField(blank=True, max_length=120)),
                ("address", models.CharField(blank=True, max_length=45)),
                ("skip_invalid", models.BooleanField(default=False)),
                ("encoding", models.CharField(default="utf-8", max_length=10)),
                ("upload", models.CharField(blank=True, max_length=500)),
                ("status", models.CharField(choices=[("queued", "Queued"), ("running", "Running"), ("done", "Done"),
                                                     ("refused", "Refused"), ("failed", "Failed")],
                                            default="queued", max_length=10)),
                ("phase", models.CharField(blank=True, max_length=10)),
                ("rows_read", models.PositiveIntegerField(default=0)),
                ("rows_written", models.PositiveIntegerField(default=0)),
                ("report", models.JSONField(blank=True, null=True)),
                ("reason", models.CharField(blank=True, max_length=500)),
                ("host", models.CharField(blank=True, max_length=255)),
                ("pid", models.IntegerField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                           to=settings.AUTH_USER_MODEL)),
            ],
        ),
    ]
