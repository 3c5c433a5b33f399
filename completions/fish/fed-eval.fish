# fish completion for fed-eval(1)

complete -c fed-eval -s m -l model -r -F -d 'Model bundle'
complete -c fed-eval -s u -l update -r -F -d 'Update to apply first'
complete -c fed-eval -s d -l data -r -F -d 'Data bundle'
complete -c fed-eval -l json -d 'Print JSON'
complete -c fed-eval -s h -l help -d 'Print usage and exit'
complete -c fed-eval -l version -d 'Print the version and exit'
