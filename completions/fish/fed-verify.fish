# fish completion for fed-verify(1)

# Bundles: *.fed files, and directories to find them in.
set -l bundles '(__fish_complete_path (commandline -ct | string replace -r -- "^-[^=]*=" "") | string match -er -- "(?:\.fed|/)\t")'
complete -c fed-verify -f
complete -c fed-verify -s q -l quiet -d 'Print nothing but errors'
complete -c fed-verify -l json -d 'One JSON object per bundle'
complete -c fed-verify -s p -l public-key -r -F -d 'Trust a public key'
complete -c fed-verify -s P -l key-dir -x -a '(__fish_complete_directories)' -d 'Trust every *.pub key in a directory'
complete -c fed-verify -s k -l quorum -x -d 'Number of distinct trusted signers required'
complete -c fed-verify -l parent -x -a $bundles -d 'Required parent: a bundle or a sha256 digest'
complete -c fed-verify -s o -l output -r -F -d 'Write the bundle once verified'
complete -c fed-verify -s h -l help -d 'Print usage and exit'
complete -c fed-verify -l version -d 'Print the version and exit'
complete -c fed-verify -a $bundles -d 'Bundle'
