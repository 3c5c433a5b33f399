# fish completion for fed-init(1)

# Bundles: *.fed files, and directories to find them in.
set -l bundles '(__fish_complete_path (commandline -ct | string replace -r -- "^-[^=]*=" "") | string match -er -- "(?:\.fed|/)\t")'
complete -c fed-init -f
complete -c fed-init -s a -l arch -x -a 'softmax:784-10 mlp:784-200-10 mlp:784-200-200-10' -d 'Architecture'
complete -c fed-init -s f -l from -r -F -d 'Import the tensors of a safetensors file'
complete -c fed-init -l base -x -a $bundles -d 'The frozen model the imported tensors adapt'
complete -c fed-init -s s -l seed -x -d 'Seed of the initial weights (default 0)'
complete -c fed-init -s o -l output -r -F -d 'Write the bundle to a file'
complete -c fed-init -s h -l help -d 'Print usage and exit'
complete -c fed-init -l version -d 'Print the version and exit'
