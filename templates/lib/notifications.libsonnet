// Pipeline-level notifications.
{
  // `events`: any of 'starting', 'complete', 'failed'. `message`: text Echo appends to the
  // "complete" and "failed" messages (`message.<event>.text`, SlackNotificationAgent); it
  // may hold a `${...}` expression, which Orca evaluates with the execution as context
  // when the execution starts and ends (EchoNotifyingExecutionListener).
  slack(channel, events, message=null):: {
    type: 'slack',
    level: 'pipeline',
    address: channel,
    when: ['pipeline.' + e for e in events],
  } + (if message == null || std.setDiff(std.set(events), ['starting']) == [] then {} else {
         message: { ['pipeline.' + e]: { text: message } for e in events if e != 'starting' },
       }),
}
