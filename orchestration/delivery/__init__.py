"""Delivery of the nightly workbooks to each team's admins, the exports index, retention.

No Dagster here: the assets in ``orchestration.defs.assets.delivery`` call these modules.

* ``content``: what a team's e-mail says (recipients, Balances figures, alerts), read
  from the released reports;
* ``message``: the e-mail itself (subject, plain-text and HTML body, workbook attached);
* ``transport``: SMTP (``FLEX_SMTP_URL``) or the outbox folder of ``.eml`` files;
* ``log``: the delivery log in the warehouse (schema ``delivery``), exactly once;
* ``deliver``: one run of the delivery over a list of teams;
* ``index``: ``<exports>/index/<as_of>.csv`` and ``.html``;
* ``retention``: removal of old nightly and on-demand folders.
"""
