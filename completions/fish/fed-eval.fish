# fish completion for fed-eval(1)

# Bundles: *.fed files, and directories to find them in.
set -l bundles '(__fish_complete_path (commandline -ct | string replace -r -- "^-[^=]*=" "") | string match -er -- "(?:\.fed|/)\t")'
complete -c fed-eval -f
complete -c fed-eval -s m -l model -x -a $bundles -d 'Model bundle'
complete -c fed-eval -s u -l update -x -a $bundles -d 'Update to apply first'
complete -c fed-eval -s d -l data -x -a $bundles -d 'Data bundle'
complete -c fed-eval -l json -d 'Print JSON'
complete -c fed-eval -l report -d 'Write a report bundle of the results'
complete -c fed-eval -s o -l output -r -F -d 'Write the report here'
complete -c fed-eval -s h -l help -d 'Print usage and exit'
complete -c fed-eval -l version -d 'Print the version and exit'
complete -c fed-eval -a $bundles -d 'Data bundle'
