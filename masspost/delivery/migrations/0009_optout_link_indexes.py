# Written by hand (issue 20 review, S3): OptOutLink gets one row per message and a patient index.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('delivery', '0008_consent_optout'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='optoutlink',
            constraint=models.UniqueConstraint(fields=('campaign', 'patient', 'channel'),
                                               name='optout_link_one_per_message'),
        ),
        migrations.AddIndex(
            model_name='optoutlink',
            index=models.Index(fields=['patient'], name='optout_link_patient'),
        ),
    ]
