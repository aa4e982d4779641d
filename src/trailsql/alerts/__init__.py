"""Reports, alerts and schedules: the library's findings delivered to people.

- :mod:`~trailsql.alerts.report` runs queries over a window into a report (HTML, Markdown,
  JSON, CSV) with charts (:mod:`~trailsql.alerts.charts`);
- :mod:`~trailsql.alerts.channels` sends findings (SNS, Slack, webhook, email);
- :mod:`~trailsql.alerts.state` remembers what was sent and spools what could not be;
- :mod:`~trailsql.alerts.schedule` runs jobs on cron expressions.
"""
