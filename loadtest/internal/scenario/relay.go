package scenario

func init() {
	Register(&Scenario{
		Name:    "relay",
		Summary: "generic relay room: any server that sends each text frame to every socket of a room",
		URL:     "ws://127.0.0.1:8787/parties/chat/{room}?_pk={conn}",
		Payload: "relay",
		Self:    true,
	})
}
