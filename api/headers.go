package api

// Headers a caller sets on a call through the front door (/invoke/{name}) to make it async.
const (
	// HeaderAsync, set to "true", makes a call async: the server stores it, answers 202 with a
	// CallAccepted at once and runs it in the background.
	HeaderAsync = "Hearth-Async"
	// HeaderCallbackURL names a URL that gets a POST of the finished async call (a Call with its
	// result). It is ignored without HeaderAsync.
	HeaderCallbackURL = "Hearth-Callback-Url"
)

// HeaderStart is on the answer of every sync call that reached an instance: how the instance
// came to take it, StartWarm, StartNew (the call waited for a new instance) or StartResumed
// (it waited for a paused one to resume). The call record's Cold says the same.
const HeaderStart = "Hearth-Start"

// Values of HeaderStart.
const (
	StartWarm    = "warm"
	StartNew     = "new"
	StartResumed = "resumed"
)
