package chat_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/pith-project/pith/model/chat"
)

// A Llama 3.1/3.2 file's template is recognised from its text; its dated
// system preamble takes the date from WithDate (today's by default).
func ExampleWithDate() {
	const llama31 = `{{- bos_token }}...{{- "Cutting Knowledge Date: December 2023\n" }}{{- "Today Date: " + date_string + "\n\n" }}...<|start_header_id|>...<|eot_id|>`
	tmpl, err := chat.Detect(llama31)
	if err != nil {
		fmt.Println(err)
		return
	}
	tmpl = chat.WithDate(tmpl, time.Date(2024, time.July, 26, 0, 0, 0, 0, time.UTC))
	prompt, err := tmpl.Render([]chat.Message{{Role: "user", Content: "Hi"}}, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tmpl.Name())
	fmt.Println(strings.ReplaceAll(prompt, "\n", `\n`))
	// Output:
	// llama3.1
	// <|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n
}
