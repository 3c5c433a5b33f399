# fish completion for fed-coord(1)

complete -c fed-coord -f -a '(__fish_complete_directories)'
complete -c fed-coord -s s -l secret-key -r -F -d "The coordinator's secret key"
complete -c fed-coord -l passphrase-file -r -F -d 'The passphrase of the secret key'
complete -c fed-coord -l init -r -F -d 'Publish this model as round 0'
complete -c fed-coord -s k -l quorum -x -d 'Close the round once this many updates verify'
complete -c fed-coord -s t -l deadline -x -d 'Close the round at this time'
complete -c fed-coord -s i -l interval -x -d 'Seconds between two looks at the inbox'
complete -c fed-coord -s r -l rule -x -a 'fedavg fedavgm nesterov fedadam fedyogi fedadagrad median trimmed-mean: krum: multi-krum:' -d 'The merge rule'
complete -c fed-coord -s M -l merge-options -x -d 'More options of fed-merge'
complete -c fed-coord -s h -l help -d 'Print usage and exit'
complete -c fed-coord -l version -d 'Print the version and exit'
