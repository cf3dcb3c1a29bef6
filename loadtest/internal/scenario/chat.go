package scenario

func init() {
	// The chat app speaks Cloudflare's durable-chat-template protocol: the
	// server re-broadcasts {type:"add"} messages to the whole room, sender
	// included. This is the generic relay with the chat payload and the
	// chat app's defaults; the app's own scenario grows from here.
	Register(&Scenario{
		Name:    "chat",
		Summary: "the chat app (durable-chat-template protocol, JSON {type:\"add\"} frames)",
		URL:     "ws://127.0.0.1:8787/parties/chat/{room}?_pk={conn}",
		Payload: "chat",
		Self:    true,
	})
}
