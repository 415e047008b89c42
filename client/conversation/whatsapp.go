package conversation

import (
	"fmt"
	"strings"
)

// WhatsApp exports prefix each message with a timestamp:
//
//	iOS:     [25/11/2026, 14:03:12] Alice: text
//	Android: 25/11/2026, 14:03 - Alice: text
//
// Lines without a prefix continue the previous message. Lines with a
// prefix but no sender are WhatsApp's own notices (encryption, group
// changes) and are dropped. iOS marks attachments with U+200E, removed here.

func isWhatsApp(text string) bool {
	for _, line := range strings.SplitN(text, "\n", 20) {
		line = strings.TrimLeft(line, "\u200e")
		if strings.TrimSpace(line) == "" {
			continue
		}
		_, ok := stripStamp(line)
		return ok
	}
	return false
}

func parseWhatsApp(text string) ([]Message, error) {
	var g gather
	inMessage := false
	for n, line := range strings.Split(text, "\n") {
		line = strings.ReplaceAll(line, "\u200e", "")
		rest, ok := stripStamp(line)
		if !ok {
			if inMessage {
				g.add(line)
			} else if strings.TrimSpace(line) != "" && len(g.msgs) == 0 && n > 0 {
				return nil, fmt.Errorf("conversation: WhatsApp export, line %d: expected a timestamped message", n+1)
			}
			continue
		}
		from, body, ok := splitSender(rest)
		if !ok {
			inMessage = false // a notice such as "Messages are end-to-end encrypted"
			continue
		}
		g.start(from, body)
		inMessage = true
	}
	msgs := g.done()
	for i := range msgs {
		msgs[i].Text = strings.TrimRight(msgs[i].Text, "\n")
	}
	return nonEmpty(msgs)
}

// stripStamp removes a leading WhatsApp timestamp and reports whether there
// was one.
func stripStamp(line string) (string, bool) {
	if strings.HasPrefix(line, "[") {
		end := strings.Index(line, "] ")
		if end < 0 || !isDateTime(line[1:end]) {
			return "", false
		}
		return line[end+2:], true
	}
	end := strings.Index(line, " - ")
	if end < 0 || !isDateTime(line[:end]) {
		return "", false
	}
	return line[end+3:], true
}

// isDateTime accepts "d/m/yy[yy], h:mm[:ss][ AM|PM]" with / . or - in the
// date, as WhatsApp writes it in the common locales.
func isDateTime(s string) bool {
	date, tm, ok := strings.Cut(s, ", ")
	if !ok {
		date, tm, ok = strings.Cut(s, " ")
		if !ok {
			return false
		}
	}
	if !fields(date, "/.-", 3, 1, 4) {
		return false
	}
	tm = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(tm), "AM"), "PM")
	tm = strings.TrimSuffix(strings.TrimSuffix(tm, "am"), "pm")
	tm = strings.TrimRight(tm, " \u202f")
	return fields(tm, ":", 2, 1, 2) || fields(tm, ":", 3, 1, 2)
}

// fields reports whether s is n groups of digits, each minLen..maxLen long,
// joined by one separator from seps.
func fields(s, seps string, n, minLen, maxLen int) bool {
	parts := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) })
	if len(parts) != n || strings.Count(s, "")-1 != len(strings.Join(parts, ""))+n-1 {
		return false
	}
	for _, p := range parts {
		if len(p) < minLen || len(p) > maxLen {
			return false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}
