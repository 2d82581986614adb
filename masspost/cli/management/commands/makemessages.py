"""Django's makemessages, knowing masspost's `gettext_lazy as _lazy` (web forms and labels): without the keyword,
xgettext would leave those strings out of the catalogues. Run from masspost/:
`python -m masspost makemessages -l et -l ru -l en -e html,py --ignore=migrations --no-obsolete`."""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=_lazy"]
