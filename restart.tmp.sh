#!/bin/bash
# restart the serve processes of the cluster with the current build
for t in label_sublabels label_urls labels; do
  line=$(ps -eo pid,args | grep "cli.js serve s3://sample-data/$t.csv.gz" | grep -v grep | head -1)
  pid=$(echo $line | awk '{print $1}'); args=$(echo $line | cut -d' ' -f3-)
  [ -n "$pid" ] && kill $pid; sleep 0.5
  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295 nohup node $args > /tmp/serve-$t.log 2>&1 &
done
sleep 25
node -e "
const fs=require('fs'); const c=JSON.parse(fs.readFileSync('/tmp/cluster.json'));
const {execSync}=require('child_process');
for (const t of Object.keys(c.containers)) c.containers[t].pid = Number(execSync('pgrep -f \"serve s3://sample-data/'+t+'.csv.gz\"').toString().trim().split('\n')[0]);
fs.writeFileSync('/tmp/cluster.json', JSON.stringify(c,null,1)); console.log(c.containers)"
