# A receipt keeps the provider's error (applied with it to an undelivered message) and whether the recipient opted
# out with the provider; a reply keeps the provider's id, unique when given, so that a webhook the provider retries
# is stored once.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('delivery', '0005_outbox_campaign_id'),
    ]

    operations = [
        migrations.AddField(
            model_name='deliveryreceipt',
            name='error',
            field=models.TextField(blank=True, db_default=''),
        ),
        migrations.AddField(
            model_name='deliveryreceipt',
            name='opt_out',
            field=models.BooleanField(db_default=False),
        ),
        migrations.AddField(
            model_name='inboundmessage',
            name='remote_id',
            field=models.CharField(blank=True, db_default='', max_length=100),
        ),
        migrations.AddConstraint(
            model_name='inboundmessage',
            constraint=models.UniqueConstraint(condition=models.Q(('remote_id', ''), _negated=True), fields=('remote_id',), name='inbound_one_per_remote_id'),
        ),
    ]
