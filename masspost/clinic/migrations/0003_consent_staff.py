from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("clinic", "0002_import_consent")]

    operations: list = []
