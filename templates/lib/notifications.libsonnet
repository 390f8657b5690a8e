// Pipeline-level notifications.
{
  // `events`: any of 'starting', 'complete', 'failed'.
  slack(channel, events):: {
    type: 'slack',
    level: 'pipeline',
    address: channel,
    when: ['pipeline.' + e for e in events],
  },
}
