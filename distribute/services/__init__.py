"""The one core every interface calls: the CLI, the public web app, the staff app and the API.

A service function takes a session (one unit of work, committed by the caller) and an `Actor`,
checks the actor may do it, does it through the pipeline packages, records changes in the audit
log, and returns plain data (dicts and lists that every interface can present or serialise).
Interfaces parse input, call one service and present the result; they hold no rule and no query."""
