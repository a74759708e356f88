"""`cityops apikey revoke NAME|PREFIX`: the key stops working at once."""

from django.core.management.base import BaseCommand, CommandError

from cityops.api.keys import apikey_find, apikey_revoke


class Command(BaseCommand):
    help = "吊销 API 密钥（按名称、前缀或完整密钥查找）；吊销立即生效。"

    def add_arguments(self, parser):
        parser.add_argument("key", help="密钥名称、前缀或完整密钥")

    def handle(self, *args, key, **options):
        record = apikey_find(key)
        if record is None:
            raise CommandError(f"找不到 API 密钥：{key}")
        if apikey_revoke(record=record):
            self.stdout.write(f"已吊销 API 密钥“{record.name}”（前缀 {record.prefix}）。")
        else:
            self.stdout.write(f"API 密钥“{record.name}”此前已吊销。")
