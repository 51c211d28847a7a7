-- The rows of the schema-1 store ({dir}: this folder).
COPY cases FROM '{dir}/cases.csv' (HEADER);
COPY rejected FROM '{dir}/rejected.csv' (HEADER);
COPY ingest_log FROM '{dir}/ingest_log.csv' (HEADER);
