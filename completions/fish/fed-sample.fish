# fish completion for fed-sample(1)

# Bundles: *.fed files, and directories to find them in.
set -l bundles '(__fish_complete_path (commandline -ct | string replace -r -- "^-[^=]*=" "") | string match -er -- "(?:\.fed|/)\t")'
complete -c fed-sample -f
complete -c fed-sample -s m -l model -x -a $bundles -d 'Model bundle'
complete -c fed-sample -s p -l prompt -x -d 'Text to continue'
complete -c fed-sample -s n -l bytes -x -d 'Bytes to generate (default 200)'
complete -c fed-sample -s t -l temperature -x -d 'Sampling temperature (default 0.8)'
complete -c fed-sample -s s -l seed -x -d 'Seed of the draws (default 0)'
complete -c fed-sample -s o -l output -r -F -d 'Write the text to a file'
complete -c fed-sample -s h -l help -d 'Print usage and exit'
complete -c fed-sample -l version -d 'Print the version and exit'
