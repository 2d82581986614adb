from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0005_idempotentsend")]

    operations: list = []
