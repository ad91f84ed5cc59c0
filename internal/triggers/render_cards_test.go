package triggers

import "testing"

// TestTeamsCard pins the Adaptive Card both alerts and burn alerts send to
// Teams: the summary coloured by state, the description, and one link.
func TestTeamsCard(t *testing.T) {
	for _, tc := range []struct {
		triggered bool
		color     string
	}{{true, "Attention"}, {false, "Good"}} {
		msg := teamsCard("Triggered: errors", "5 > 3", tc.triggered, "Open trigger", "http://waggle/t/1")
		att := msg["attachments"].([]map[string]any)[0]
		if att["contentType"] != "application/vnd.microsoft.card.adaptive" {
			t.Fatalf("content type %v", att["contentType"])
		}
		card := att["content"].(map[string]any)
		body := card["body"].([]map[string]any)
		if card["type"] != "AdaptiveCard" || body[0]["text"] != "Triggered: errors" || body[0]["color"] != tc.color || body[1]["text"] != "5 > 3" {
			t.Fatalf("card = %v", card)
		}
		action := card["actions"].([]map[string]any)[0]
		if action["title"] != "Open trigger" || action["url"] != "http://waggle/t/1" {
			t.Fatalf("action = %v", action)
		}
	}
	msg := slackMessage("s", "d", "#ff0000", nil, "#alerts")
	if msg["channel"] != "#alerts" || slackMessage("s", "d", "", nil, "https://hooks")["channel"] != nil {
		t.Fatalf("slack channel override is off: %v", msg)
	}
}
