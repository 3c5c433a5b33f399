# fish completion for fed-verify(1)

# Bundles: *.fed files, and directories to find them in.
set -l bundles '(__fish_complete_path (commandline -ct | string replace -r -- "^-[^=]*=" "") | string match -er -- "(?:\.fed|/)\t")'
complete -c fed-verify -f
complete -c fed-verify -s q -l quiet -d 'Print nothing but errors'
complete -c fed-verify -l json -d 'One JSON object per bundle'
complete -c fed-verify -s n -l integrity-only -d 'Check everything but signatures'
complete -c fed-verify -s p -l public-key -r -F -d 'Trust a public key'
complete -c fed-verify -s P -l key-dir -x -a '(__fish_complete_directories)' -d 'Trust every *.pub key in a directory'
complete -c fed-verify -s R -l roster -r -F -d 'The holders of a roster the -p key signed'
complete -c fed-verify -s k -l quorum -x -d 'Number of distinct trusted signers required'
complete -c fed-verify -l parent -x -a $bundles -d 'Required parent: a bundle or a sha256 digest'
complete -c fed-verify -s o -l output -r -F -d 'Write the bundle once verified'
complete -c fed-verify -l weights -r -F -d 'Write the verified model\'s weights as safetensors'
complete -c fed-verify -l chain -d 'Walk the models given from round 0 to their head'
complete -c fed-verify -l updates -x -a '(__fish_complete_directories)' -d 'With --chain: the published updates, DIR/round-NNN/'
complete -c fed-verify -l min-round -x -d 'Refuse a model below this round'
complete -c fed-verify -l lineage -r -F -d 'State file of the newest model accepted'
complete -c fed-verify -s h -l help -d 'Print usage and exit'
complete -c fed-verify -l version -d 'Print the version and exit'
complete -c fed-verify -a $bundles -d 'Bundle'
