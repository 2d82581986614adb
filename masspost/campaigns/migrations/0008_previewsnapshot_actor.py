from django.db import migrations, models


def forget(apps, schema_editor):
    # Snapshots live a day and only explain a stale send: those from before the actor column are dropped rather
    # than guessed (their keys held the actor's hash after an "@").
    apps.get_model("campaigns", "PreviewSnapshot").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0007_importjob")]

    operations = [
        migrations.RunPython(forget, migrations.RunPython.noop),
        migrations.AddField(model_name="previewsnapshot", name="actor",
                            field=models.CharField(max_length=16, default=""), preserve_default=False),
        migrations.AlterField(model_name="previewsnapshot", name="token", field=models.CharField(max_length=200)),
        migrations.AddConstraint(model_name="previewsnapshot",
                                 constraint=models.UniqueConstraint(fields=("token", "actor"),
                                                                    name="preview_snapshot_token_actor")),
        migrations.AddIndex(model_name="previewsnapshot",
                            index=models.Index(fields=["actor", "created_at"], name="preview_snapshot_actor")),
    ]
