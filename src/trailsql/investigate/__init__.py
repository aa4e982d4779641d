"""Investigating one subject (an access key, a principal, a session, an address, a resource):
its timeline with summaries (:mod:`.timeline`), the sessions it opened (:mod:`.chain`), and
their rendering (:mod:`.render`). Everything runs as SQL through the Session, so it works
on any engine and on the lake."""
