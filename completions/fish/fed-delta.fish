# fish completion for fed-delta(1)

complete -c fed-delta -s m -l model -r -F -d 'The model the weights were trained from'
complete -c fed-delta -s n -l samples -x -d 'Training samples behind the weights'
complete -c fed-delta -l encode -x -a 'fp16 bf16 int8 rsign topk:0.1 topk8:0.1' -d 'Compress the update'
complete -c fed-delta -l meta -r -F -d 'The trainer\'s description, a JSON object'
complete -c fed-delta -s o -l output -r -F -d 'Write the update to a file'
complete -c fed-delta -s h -l help -d 'Print usage and exit'
complete -c fed-delta -l version -d 'Print the version and exit'
