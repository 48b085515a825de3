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
